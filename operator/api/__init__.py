"""The EventReplay API, one sub-package per version (`v1alpha1` is served and stored).

Everything the API server validates (CRD schema, CEL rules, printer columns) is generated from
these models; the operator and the CLI parse objects into them instead of indexing dicts.
"""
