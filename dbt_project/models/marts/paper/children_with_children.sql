-- The paper's count, per edge type, of children that have children of their own, on its
-- no-merges graph: edges by the paper's rule (tags, parent in the snapshot), merges left out,
-- typed by the paper's relation (`untyped` when only `base_model:<id>` names the parent).
with edges as (

    select parent_id, child_id, coalesce(paper_relation, 'untyped') as relation
    from {{ ref('fct_model_edges') }}
    where in_paper_graph and not is_self_loop and coalesce(paper_relation, '') <> 'merge'

),

parents as (

    select distinct parent_id from edges

)

select
    edges.relation,
    count(distinct edges.child_id) as n_children,
    count(distinct edges.child_id) filter (where parents.parent_id is not null)
        as n_children_with_children
from edges
left join parents on parents.parent_id = edges.child_id
group by edges.relation
