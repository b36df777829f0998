"""The one trainer every training stage uses (base, cpt, sft, dpo, rs): `steep.trainer.core`.

`steep.trainer.config` is torch-free (schemas import it); `core` and `launch` import torch when used.
"""
