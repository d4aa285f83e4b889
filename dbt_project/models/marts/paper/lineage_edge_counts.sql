-- Edge counts under the paper's rule and under ours, per relation and in total ('all').
-- paper: `base_model:` tags only, parent in the snapshot, typed by typed tags alone.
-- ours: tags and cardData.base_model, parent in the Hub, self-loops out (what the analytics use).
with edges as (

    select
        'paper' as edge_rule,
        coalesce(paper_relation, 'untyped') as relation,
        evidence,
        is_self_loop
    from {{ ref('fct_model_edges') }}
    where in_paper_graph

    union all

    select 'ours', coalesce(relation, 'untyped'), evidence, is_self_loop
    from {{ ref('fct_model_edges') }}
    where parent_in_hub and not is_self_loop

)

select
    edge_rule,
    coalesce(relation, 'all') as relation,
    count(*) as n_edges,
    count(*) filter (where evidence = 'typed_tag') as n_typed_tag,
    count(*) filter (where evidence = 'untyped_tag') as n_untyped_tag_only,
    count(*) filter (where evidence = 'card_data') as n_card_data_only,
    count(*) filter (where is_self_loop) as n_self_loops
from edges
group by grouping sets ((edge_rule, relation), (edge_rule))
