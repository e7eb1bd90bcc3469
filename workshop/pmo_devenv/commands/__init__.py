"""`pmo dev` and `pmo demo`: registered with `pmo` through the `pmo.commands` entry point group."""
