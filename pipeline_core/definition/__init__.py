"""The pipeline definition: versioned pydantic data, its migrations, and the registries of steps and models.

Everything else in the core reads a definition; nothing here fits or reads data.
"""
