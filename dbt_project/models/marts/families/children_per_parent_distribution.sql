-- Ecosystem-wide out-degree distribution: for each number of direct children, how many
-- models have exactly that many. Two graphs: `family_tree` counts primary-parent links
-- only (the forest the families are made of); `all_edges` counts every edge whose parent is
-- in the Hub, merges included, self-loops excluded. Models without children are left out.
with family_tree as (

    select primary_parent_id as parent_id, count(*) as n_children
    from {{ ref('dim_model_family') }}
    where primary_parent_id is not null
    group by primary_parent_id

),

all_edges as (

    select parent_id, count(*) as n_children
    from {{ ref('fct_model_edges') }}
    where parent_in_hub and not is_self_loop
    group by parent_id

),

degrees as (

    select 'family_tree' as graph, n_children from family_tree
    union all
    select 'all_edges' as graph, n_children from all_edges

)

select graph, n_children, count(*) as n_parents
from degrees
group by graph, n_children
