-- One README fetch outcome per (model, version) ever fetched, current version or not: the
-- narrow table that tells which models' cards changed since a build (stg_hub__model_cards
-- joins the current models and their texts, which costs a second at 3M models).
select
    model_oid,
    version_key,
    status as fetch_status,
    content_hash,
    fetched_at
from {{ source('hub', 'hub_card_fetches') }}
