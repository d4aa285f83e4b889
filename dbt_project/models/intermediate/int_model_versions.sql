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

-- Each version's lists are computed on its own row (no unnest and regrouping of every tag), as
-- in int_model_traits.
declared as (

    select
        versions.*,
        lookups.license_aliases,
        -- every parent the version declares, with the relation each declaration gives
        list_filter(
            list_concat(
                list_transform(
                    list_filter(tags, lambda tag: starts_with(tag, 'base_model:')),
                    lambda tag: {
                        'parent_id': trim(case
                            when regexp_matches(tag, '^base_model:(finetune|adapter|quantized|merge):')
                                then regexp_extract(tag, '^base_model:[a-z]+:(.*)$', 1)
                            else substr(tag, length('base_model:') + 1)
                        end),
                        'relation': nullif(
                            regexp_extract(tag, '^base_model:(finetune|adapter|quantized|merge):', 1), ''
                        )
                    }
                ),
                list_transform(
                    {{ json_string_list('card_base_model') }},
                    lambda parent: {
                        'parent_id': parent,
                        'relation': case
                            when card_base_model_relation in ('finetune', 'adapter', 'quantized', 'merge')
                                then card_base_model_relation
                        end
                    }
                )
            ),
            lambda declaration: declaration.parent_id <> ''
        ) as declarations
    from versions
    cross join (select {{ license_alias_map() }} as license_aliases) as lookups

),

-- One edge per declared parent, its relation the highest by the paper's precedence among the
-- declarations naming it (null when none types it).
edged as (

    select
        *,
        list_transform(
            list_sort(list_distinct(list_transform(declarations, lambda declaration: declaration.parent_id))),
            lambda parent: {
                'parent_id': parent,
                'relation': case list_max(list_transform(
                        list_filter(declarations, lambda declaration: declaration.parent_id = parent),
                        lambda declaration: {{ relation_precedence('declaration.relation') }}
                    ))
                    when 4 then 'merge'
                    when 3 then 'adapter'
                    when 2 then 'quantized'
                    when 1 then 'finetune'
                end
            }
        ) as edges
    from declared

)

select
    model_oid,
    version_key,
    model_id as version_model_id,
    sha,
    last_modified,
    observed_at,
    {{ normalised_licenses('tags', 'card_license', 'license_aliases') }} as licenses,
    list_sort(tags) as tags,
    pipeline_tag,
    library_name,
    gated,
    edges,
    list_sort(list_filter(
        list_transform(edges, lambda edge: edge.parent_id),
        lambda parent: parent <> model_id
    )) as base_models
from edged
