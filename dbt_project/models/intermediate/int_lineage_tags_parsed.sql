-- One row per (child, parent, relation) declared by a `base_model:` tag.
-- `base_model:<relation>:<parent>` is typed; `base_model:<parent>` (one colon) is untyped.
with models as (

    select model_id, tags from {{ ref('stg_hub__models') }}

),

lineage_tags as (

    select distinct
        model_id as child_id,
        tag
    from models, unnest(tags) as t(tag)
    where tag like 'base_model:%'

),

parsed as (

    select
        child_id,
        case
            when regexp_matches(tag, '^base_model:(finetune|adapter|quantized|merge):')
                then split_part(tag, ':', 2)
        end as relation,
        case
            when regexp_matches(tag, '^base_model:(finetune|adapter|quantized|merge):')
                then substr(tag, length('base_model:' || split_part(tag, ':', 2) || ':') + 1)
            else substr(tag, length('base_model:') + 1)
        end as parent_id
    from lineage_tags

)

select distinct child_id, parent_id, relation
from parsed
where parent_id <> ''
