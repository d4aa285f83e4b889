-- One row per model currently on the Hub, with the list-API fields typed and renamed.
-- Deletion sweeps change which rows are current: depends_on: {{ source('hub', 'hub_sweeps') }}
with source as (

    select * from {{ source('hub', 'hub_models') }}
    where deleted_at is null

),

renamed as (

    select
        model_oid,
        model_id,
        coalesce(payload ->> '$.author', split_part(model_id, '/', 1)) as author,
        sha,
        created_at,
        last_modified,
        try_cast(payload ->> '$.downloads' as bigint) as downloads,
        try_cast(payload ->> '$.likes' as bigint) as likes,
        payload ->> '$.library_name' as library_name,
        payload ->> '$.pipeline_tag' as pipeline_tag,
        coalesce(try_cast(payload -> '$.tags' as varchar[]), []::varchar[]) as tags,
        payload -> '$.cardData' as card_data,
        coalesce(try_cast(payload ->> '$.private' as boolean), false) as is_private,
        payload ->> '$.gated' as gated,
        coalesce(try_cast(payload ->> '$.disabled' as boolean), false) as is_disabled,
        payload,
        changed_at

    from source

)

select * from renamed
