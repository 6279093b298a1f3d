"""The demand methods in the words a finance officer uses, and their statistical names for a
tooltip or footnote: one wording for the web app, the reports and the command line."""

from __future__ import annotations

from sf_benefits.project.defaults import DEFAULT_METHOD

METHOD_WORDS: dict[str, str] = {
    "pooled": "What followed similar years across all LAs",
    "stock_flow": "Children coming in and leaving care, by placement",
    "auto": "Whichever method forecast this LA's past years best",
    "ets": "Recent years weighted most",
    "theta": "Long-run trend plus the latest level",
    "linear_trend": "Straight-line trend through past years",
    "naive": "Last year's figure carried forward",
    "arima": "Pattern in past year-to-year changes",
}
"""Each demand forecasting method in plain words."""
METHOD_TECHNICAL: dict[str, str] = {
    "pooled": "median regression pooled across every LA (pooled)",
    "stock_flow": "stock-and-flow model of starts and ceases (stock_flow)",
    "auto": "method with the lowest backtest error (auto)",
    "ets": "exponential smoothing (ETS)", "theta": "Theta method (theta)",
    "linear_trend": "linear trend (linear_trend)", "naive": "naive forecast (naive)",
    "arima": "ARIMA model (arima)",
}
"""The statistical name of each method."""


def methods_default_first() -> dict[str, str]:
    """METHOD_WORDS with the default method first, so a list of choices starts on it."""
    return {DEFAULT_METHOD: METHOD_WORDS[DEFAULT_METHOD], **METHOD_WORDS}


def method_words(method: str) -> str:
    """The method in plain words (its id when it has none)."""
    return METHOD_WORDS.get(method, method)


def method_technical(method: str) -> str:
    """The method's statistical name (its id when it has none)."""
    return METHOD_TECHNICAL.get(method, method)
