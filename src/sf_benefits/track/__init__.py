"""track engine: actual benefits against the baseline locked at go-live and against comparable LAs.

Python API:
- record_implementation, withdraw_implementation (before a lock only), lock_baseline,
  record_baseline_revision, load_baseline, verify_baseline
- import_actuals (LA template), import_dfe_release, current_actuals, actuals_history, write_template
- realised_benefit / realised_for: children and £ avoided to date, interval, status
- difference_in_differences, synthetic_control, estimate_effects / effects_for
- programme_view, seed_demo

Names are imported on first use, so a command that needs one of them does not load the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sf_benefits.lazy import lazy_exports

if TYPE_CHECKING:
    from sf_benefits.track.actuals import (
        ActualsImport,
        actuals_history,
        current_actuals,
        import_actuals,
        import_dfe_release,
        list_imports,
        parse_period,
        validate_actuals,
        write_template,
    )
    from sf_benefits.track.counterfactual import (
        CounterfactualError,
        DidResult,
        PlaceboInTime,
        SyntheticControlResult,
        cla_rate_panel,
        difference_in_differences,
        first_post_year,
        nearest_comparators,
        synthetic_control,
    )
    from sf_benefits.track.implementations import (
        BaselineLockedError,
        Implementation,
        LockedBaseline,
        TrackError,
        get_implementation,
        list_implementations,
        load_baseline,
        lock_baseline,
        record_baseline_revision,
        record_implementation,
        verify_baseline,
        withdraw_implementation,
    )
    from sf_benefits.track.realised import (
        RealisedBenefit,
        StatusThresholds,
        realised_benefit,
    )
    from sf_benefits.track.service import (
        EffectEstimates,
        ProgrammeView,
        baseline_from_projection,
        effects_for,
        estimate_effects,
        lock_from_projection,
        programme_view,
        realised_for,
        seed_demo,
    )


__all__ = [
    "ActualsImport", "BaselineLockedError", "CounterfactualError", "DidResult", "EffectEstimates",
    "Implementation", "LockedBaseline", "PlaceboInTime", "ProgrammeView", "RealisedBenefit",
    "StatusThresholds", "SyntheticControlResult", "TrackError", "actuals_history",
    "baseline_from_projection", "cla_rate_panel", "current_actuals", "difference_in_differences",
    "effects_for", "estimate_effects", "first_post_year", "get_implementation", "import_actuals",
    "import_dfe_release", "list_implementations", "list_imports", "load_baseline",
    "lock_baseline", "lock_from_projection", "nearest_comparators", "parse_period",
    "programme_view", "realised_benefit", "realised_for", "record_baseline_revision",
    "record_implementation", "seed_demo", "synthetic_control", "validate_actuals",
    "verify_baseline", "withdraw_implementation", "write_template",
]


__getattr__ = lazy_exports(__name__, {
    "actuals": ("ActualsImport", "actuals_history", "current_actuals", "import_actuals",
                "import_dfe_release", "list_imports", "parse_period", "validate_actuals",
                "write_template"),
    "counterfactual": ("CounterfactualError", "DidResult", "PlaceboInTime",
                       "SyntheticControlResult", "cla_rate_panel", "difference_in_differences",
                       "first_post_year", "nearest_comparators", "synthetic_control"),
    "implementations": ("BaselineLockedError", "Implementation", "LockedBaseline", "TrackError",
                        "get_implementation", "list_implementations", "load_baseline",
                        "lock_baseline", "record_baseline_revision", "record_implementation",
                        "verify_baseline", "withdraw_implementation"),
    "realised": ("RealisedBenefit", "StatusThresholds", "realised_benefit"),
    "service": ("EffectEstimates", "ProgrammeView", "baseline_from_projection", "effects_for",
                "estimate_effects", "lock_from_projection", "programme_view", "realised_for",
                "seed_demo"),
})
