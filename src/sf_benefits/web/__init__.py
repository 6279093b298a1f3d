"""Web app and JSON API (`sf-benefits serve`): pages and /api render the engines' results.

`sf_benefits.web.app.create_app(store, settings)` builds the FastAPI app; access rules live in
`sf_benefits.web.access`, and every write is recorded by `sf_benefits.web.audit`.
"""
