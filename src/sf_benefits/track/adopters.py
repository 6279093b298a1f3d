"""The local authorities known to have adopted an SFPC model, with go-live dates and their basis.

Source: /work/shared/research/domain-finance.md §1 and §5 (SCIE, WWCSC / Foundations trial pages,
council news). Where the exact go-live date was not found the entry says so: `date_precision` is
"window", the date used for analysis is the middle of the stated window and `go_live_basis`
explains the window. Replace such dates with the LA's own when recording a real implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

MODELS: dict[str, str] = {
    "family_safeguarding": "Family Safeguarding (Hertfordshire)",
    "family_valued": "Family Valued (Leeds)",
    "no_wrong_door": "No Wrong Door (North Yorkshire)",
}

DATE_PRECISIONS: tuple[str, ...] = ("day", "month", "window")


@dataclass(frozen=True)
class KnownAdopter:
    """One LA's adoption of one model: when it went live and how sure that date is."""

    la_code: str
    la_name: str
    model: str
    programme: str
    go_live_date: date
    date_precision: str
    go_live_basis: str
    go_live_earliest: date | None = None
    go_live_latest: date | None = None

    @property
    def approximate(self) -> bool:
        """True unless the day of go-live is known from a source."""
        return self.date_precision != "day"


def _middle(earliest: date, latest: date) -> date:
    return date.fromordinal((earliest.toordinal() + latest.toordinal()) // 2)


TRIAL_WINDOW = (date(2020, 4, 1), date(2022, 5, 31))
_FV_TRIAL = (
    "Exact go-live NOT FOUND. FV stepped-wedge trial: first LA started spring 2020, the others at "
    "6-month intervals (Foundations FV trial page / protocol), so go-live lies in spring 2020 to "
    "spring 2022; the date used is the middle of that window. APPROXIMATE."
)
_OTHER_TRIAL = (
    "Exact go-live NOT FOUND. {model} stepped-wedge trial with randomised start dates (WWCSC "
    "trial page); window assumed the same as the FV trial's (spring 2020 to spring 2022, "
    "6-monthly steps) by analogy, not from a source; the date used is the middle of that window. "
    "APPROXIMATE."
)


def _trial(la_code: str, la_name: str, model: str, basis: str) -> KnownAdopter:
    earliest, latest = TRIAL_WINDOW
    return KnownAdopter(la_code, la_name, model, "SFPC trial", _middle(earliest, latest),
                        "window", basis, earliest, latest)


SFPC_ADOPTERS: tuple[KnownAdopter, ...] = (
    KnownAdopter("E10000003", "Cambridgeshire", "family_safeguarding", "SFPC trailblazer",
                 date(2020, 2, 1), "month",
                 "FS pilot launch ~Feb 2020 (WWCSC Cambridgeshire pilot evaluation); day not "
                 "known, 1st of the month used. APPROXIMATE."),
    KnownAdopter("E06000005", "Darlington", "family_valued", "SFPC trailblazer",
                 date(2019, 11, 1), "month",
                 "FV pilot began Nov 2019 (WWCSC Darlington pilot evaluation); day not known, "
                 "1st of the month used. APPROXIMATE."),
    KnownAdopter("E06000002", "Middlesbrough", "no_wrong_door", "SFPC trailblazer",
                 date(2020, 2, 1), "month",
                 "NWD ('Futures for Families') began Feb 2020 (WWCSC Middlesbrough pilot "
                 "evaluation); day not known, 1st of the month used. APPROXIMATE."),
    KnownAdopter("E10000017", "Lancashire", "family_safeguarding", "SFPC trial",
                 date(2021, 2, 11), "day",
                 "Launched 11 Feb 2021 after COVID-19 delayed an Oct 2020 go-live (Lancashire "
                 "County Council, council.lancashire.gov.uk mgAi.aspx?ID=80860)."),
    _trial("E08000030", "Walsall", "family_safeguarding",
           _OTHER_TRIAL.format(model="Family Safeguarding")),
    _trial("E06000020", "Telford and Wrekin", "family_safeguarding",
           _OTHER_TRIAL.format(model="Family Safeguarding")),
    _trial("E09000032", "Wandsworth", "family_safeguarding",
           _OTHER_TRIAL.format(model="Family Safeguarding")),
    _trial("E06000030", "Swindon", "family_safeguarding",
           _OTHER_TRIAL.format(model="Family Safeguarding")),
    _trial("E10000031", "Warwickshire", "family_valued", _FV_TRIAL),
    _trial("E08000021", "Newcastle upon Tyne", "family_valued", _FV_TRIAL),
    _trial("E08000026", "Coventry", "family_valued", _FV_TRIAL),
    _trial("E08000029", "Solihull", "family_valued", _FV_TRIAL),
    _trial("E08000014", "Sefton", "family_valued", _FV_TRIAL),
    _trial("E08000005", "Rochdale", "no_wrong_door", _OTHER_TRIAL.format(model="No Wrong Door")),
    _trial("E06000003", "Redcar and Cleveland", "no_wrong_door",
           _OTHER_TRIAL.format(model="No Wrong Door")),
    _trial("E06000007", "Warrington", "no_wrong_door",
           _OTHER_TRIAL.format(model="No Wrong Door")),
    _trial("E10000020", "Norfolk", "no_wrong_door", _OTHER_TRIAL.format(model="No Wrong Door")),
    _trial("E06000016", "Leicester", "no_wrong_door", _OTHER_TRIAL.format(model="No Wrong Door")),
)

EARLIER_ADOPTERS: tuple[KnownAdopter, ...] = (
    KnownAdopter("E10000015", "Hertfordshire", "family_safeguarding", "originator",
                 date(2015, 1, 1), "month",
                 "Model introduced January 2015 (Community Care, 7 Jul 2017). APPROXIMATE day."),
    KnownAdopter("E08000035", "Leeds", "family_valued", "originator", date(2015, 1, 1), "month",
                 "Innovation Programme project start January 2015 (innovationcsc.co.uk). "
                 "APPROXIMATE day."),
    KnownAdopter("E10000023", "North Yorkshire (to 2023)", "no_wrong_door", "originator",
                 date(2015, 4, 1), "month",
                 "NWD started April 2015 (CYP Now). APPROXIMATE day."),
    KnownAdopter("E06000065", "North Yorkshire (from 2023)", "no_wrong_door", "originator",
                 date(2015, 4, 1), "month",
                 "Successor unitary of North Yorkshire County Council; NWD since April 2015."),
    *(
        KnownAdopter(code, name, "family_safeguarding", "Innovation Programme round 2",
                     _middle(date(2018, 1, 1), date(2018, 12, 31)), "window",
                     "FS Wave 2 adopter, 'adopted 2018' (Rodger, Allan & Elliott 2020); month "
                     "NOT FOUND, middle of 2018 used. APPROXIMATE.",
                     date(2018, 1, 1), date(2018, 12, 31))
        for code, name in (("E06000036", "Bracknell Forest"), ("E06000032", "Luton"),
                           ("E06000031", "Peterborough"), ("E06000037", "West Berkshire"))
    ),
)


def known_adopter_codes() -> frozenset[str]:
    """GSS codes of every LA known to run one of the three models (excluded from donor pools)."""
    return frozenset(a.la_code for a in SFPC_ADOPTERS + EARLIER_ADOPTERS)
