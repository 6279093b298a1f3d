"""Each engine package's exported names resolve from their home modules, and nothing else does."""

from __future__ import annotations

from importlib import import_module

import pytest


@pytest.mark.parametrize("package", ["sf_benefits.benchmark", "sf_benefits.project",
                                     "sf_benefits.store", "sf_benefits.track"])
def test_every_exported_name_resolves(package: str) -> None:
    module = import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    with pytest.raises(AttributeError, match="no_such_name"):
        module.no_such_name  # noqa: B018
