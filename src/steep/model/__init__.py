"""The model layer: configs (torch-free, imported by schemas), loading, chat template, LoRA, tiny models, export.

Import the submodules you need (`steep.model.load`, `steep.model.template`, ...): this package itself imports
nothing, so a config schema can use `steep.model.config` without pulling in torch.
"""
