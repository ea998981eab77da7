"""The application layer: one plain, typed function per use case.

Pages, the command line and the HTTP service call these functions, so a behaviour (what saving a
version links, how an imported pipeline is checked, which rows an ONNX export is verified on) is
written once. The direction is fixed and tested (``tests/test_layers.py``): ``pages`` -> ``studio`` ->
``pipeline_core`` and ``storage``; nothing here imports Streamlit, and no page imports ``storage``.

Modules hold one area each: :mod:`studio.settings` (the environment), :mod:`studio.workspace`
(opening the store), :mod:`studio.datasets`, :mod:`studio.pipelines`, :mod:`studio.training`
(submitting and following runs), :mod:`studio.runs` (what a finished run holds),
:mod:`studio.models` (importing, exporting and loading model files) and :mod:`studio.registry` (the model
registry: registered versions, stages, rollback). :mod:`studio.cli` is ``python -m studio``: the core's commands
plus the registry's.
"""
