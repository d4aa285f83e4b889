-- One row per (child, parent, relation) declared by a `base_model:` tag.
-- `base_model:<relation>:<parent>` is typed; `base_model:<parent>` (one colon) is untyped.
with lineage_tags as (

    select
        model_id as child_id,
        unnest(lineage_tags) as tag
    from {{ ref('int_model_traits') }}

),

parsed as (

    select
        child_id,
        regexp_extract(tag, '^base_model:(finetune|adapter|quantized|merge):', 1) as typed_relation,
        case
            when typed_relation <> ''
                then substr(tag, length('base_model:' || typed_relation || ':') + 1)
            else substr(tag, length('base_model:') + 1)
        end as parent_id
    from lineage_tags

)

select distinct
    child_id,
    trim(parent_id) as parent_id,
    nullif(typed_relation, '') as relation,
    case when typed_relation <> '' then 'typed_tag' else 'untyped_tag' end as edge_source
from parsed
where trim(parent_id) <> ''
