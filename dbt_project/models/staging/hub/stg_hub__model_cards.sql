-- The README of each current model's current version, and how its latest fetch went.
-- A model's current version key is set by ingestion (its sha, or a hash of its payload).
with models as (

    select
        model_oid,
        model_id,
        version_key
    from {{ source('hub', 'hub_models') }}
    where deleted_at is null

),

fetches as (

    select * from {{ source('hub', 'hub_card_fetches') }}

),

cards as (

    select * from {{ source('hub', 'hub_model_cards') }}

)

select
    models.model_oid,
    models.model_id,
    fetches.status as fetch_status,
    fetches.fetched_at,
    cards.content_hash,
    case when fetches.status = 'ok' then cards.card_text end as card_text
from models
inner join fetches
    on fetches.model_oid = models.model_oid
    and fetches.version_key = models.version_key
left join cards on cards.content_hash = fetches.content_hash
