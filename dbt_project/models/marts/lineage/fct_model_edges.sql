-- One row per (parent, child) lineage edge between models.
-- Primary relation by the paper's precedence: merge > adapter > quantized > finetune.
with tags as (

    select * from {{ ref('int_lineage_tags_parsed') }}

),

models as (

    select model_id from {{ ref('stg_hub__models') }}

),

edges as (

    select
        parent_id,
        child_id,
        arg_max(
            relation,
            case relation
                when 'merge' then 4 when 'adapter' then 3
                when 'quantized' then 2 when 'finetune' then 1
            end
        ) filter (where relation is not null) as relation,
        list(distinct relation order by relation) filter (where relation is not null) as relation_tags
    from tags
    group by parent_id, child_id

),

final as (

    select
        edges.parent_id,
        edges.child_id,
        edges.relation,
        coalesce(edges.relation_tags, []::varchar[]) as relation_tags,
        parents.model_id is not null as parent_in_hub,
        edges.parent_id = edges.child_id as is_self_loop
    from edges
    left join models as parents on parents.model_id = edges.parent_id

)

select * from final
