-- Every version of every model the warehouse ever observed (raw.hub_model_versions), with the
-- attributes the history marts track parsed from its payload: licences (normalised as in
-- int_model_traits), tags, task, library, gating, and the parents it declares (tags and card
-- header) with the primary relation by the paper's precedence. Versions never change, so the
-- model is incremental on their observation time and only appends.
{{ config(
    materialized='incremental',
    unique_key=['model_oid', 'version_key'],
    incremental_strategy='delete+insert',
    post_hook=[
        "{{ save_watermark('select max(observed_at) from ' ~ source('hub', 'hub_model_versions')) }}",
    ],
) }}

-- Each JSON text is parsed once: a list of paths gives a list of values (stg_hub__models).
with extracted as (

    select
        model_oid,
        version_key,
        model_id,
        sha,
        last_modified,
        observed_at,
        json_extract(payload, ['$.tags', '$.cardData']) as json_fields,
        json_extract_string(payload, ['$.pipeline_tag', '$.library_name', '$.gated'])
            as text_fields
    from {{ source('hub', 'hub_model_versions') }}
    where observed_at > {{ watermark() }}

),

versions as (

    select
        * exclude (json_fields, text_fields, card_fields),
        coalesce(try_cast(json_fields[1] as varchar[]), []::varchar[]) as tags,
        text_fields[1] as pipeline_tag,
        text_fields[2] as library_name,
        text_fields[3] as gated,
        card_fields[1] as card_license,
        card_fields[2] as card_base_model,
        card_fields[3] ->> '$' as card_base_model_relation
    from (
        select
            *,
            json_extract(json_fields[2], ['$.license', '$.base_model', '$.base_model_relation'])
                as card_fields
        from extracted
    )

),

license_aliases as (

    select alias, license from {{ ref('license_aliases') }}

),

-- unnest in the select list: DuckDB 2.0 ran a lateral unnest (`from t, unnest(...)`) about
-- ten times slower, grouping by the whole list to join its elements back.
version_tags as (

    select model_oid, version_key, unnest(tags) as tag
    from versions

),

license_mentions as (

    select model_oid, version_key, substr(tag, strpos(tag, ':') + 1) as value
    from version_tags
    where starts_with(tag, 'license:')

    union all

    select model_oid, version_key, unnest({{ json_string_list('card_license') }}) as value
    from versions

),

licenses as (

    select
        mentions.model_oid,
        mentions.version_key,
        list_sort(list_distinct(list(
            coalesce(license_aliases.license, lower(trim(mentions.value)))
        ) filter (where coalesce(license_aliases.license, lower(trim(mentions.value))) <> '')))
            as licenses
    from license_mentions as mentions
    left join license_aliases on license_aliases.alias = lower(trim(mentions.value))
    group by mentions.model_oid, mentions.version_key

),

declarations as (

    select
        model_oid,
        version_key,
        trim(case
            when regexp_matches(tag, '^base_model:(finetune|adapter|quantized|merge):')
                then regexp_extract(tag, '^base_model:[a-z]+:(.*)$', 1)
            else substr(tag, length('base_model:') + 1)
        end) as parent_id,
        nullif(regexp_extract(tag, '^base_model:(finetune|adapter|quantized|merge):', 1), '')
            as relation
    from version_tags
    where starts_with(tag, 'base_model:')

    union all

    select
        model_oid,
        version_key,
        unnest({{ json_string_list('card_base_model') }}),
        case
            when card_base_model_relation in ('finetune', 'adapter', 'quantized', 'merge')
                then card_base_model_relation
        end
    from versions

),

edges as (

    select
        model_oid,
        version_key,
        parent_id,
        arg_max(relation, {{ relation_precedence('relation') }})
            filter (where relation is not null) as relation
    from declarations
    where parent_id <> ''
    group by model_oid, version_key, parent_id

),

edge_lists as (

    select
        model_oid,
        version_key,
        list({'parent_id': parent_id, 'relation': relation} order by parent_id) as edges
    from edges
    group by model_oid, version_key

)

select
    versions.model_oid,
    versions.version_key,
    versions.model_id as version_model_id,
    versions.sha,
    versions.last_modified,
    versions.observed_at,
    coalesce(licenses.licenses, []::varchar[]) as licenses,
    list_sort(versions.tags) as tags,
    versions.pipeline_tag,
    versions.library_name,
    versions.gated,
    coalesce(edge_lists.edges, []) as edges,
    coalesce(
        list_sort(list_filter(
            list_transform(edge_lists.edges, lambda edge: edge.parent_id),
            lambda parent: parent <> versions.model_id
        )),
        []::varchar[]
    ) as base_models
from versions
left join licenses
    on licenses.model_oid = versions.model_oid and licenses.version_key = versions.version_key
left join edge_lists
    on edge_lists.model_oid = versions.model_oid and edge_lists.version_key = versions.version_key
