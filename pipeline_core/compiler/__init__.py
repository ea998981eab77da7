"""From a definition and a frame's columns to one scikit-learn ``Pipeline``.

Column schema and roles (``columns``), the rows that train (``prepare``), the compiled pipeline
(``compile``), and what each step does to a sample (``preview``).
"""
