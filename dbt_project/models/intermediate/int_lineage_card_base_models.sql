-- One row per (child, parent) named by the card header's `base_model` (a string or a list;
-- other JSON types were dropped when the traits were parsed). The relation comes from
-- `base_model_relation` when it holds one of the four known relations, otherwise it is null.
select distinct
    model_id as child_id,
    parent_id,
    case
        when card_base_model_relation in ('finetune', 'adapter', 'quantized', 'merge')
            then card_base_model_relation
    end as relation,
    'card_data' as edge_source
from (
    select model_id, card_base_model_relation, unnest(card_base_models) as parent_id
    from {{ ref('int_model_traits') }}
)
