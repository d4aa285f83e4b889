{#- The safe walk up a lineage graph: every (descendant, ancestor) pair reachable from the
    descendants in `starts_sql`, over the edges in `edges_sql` (columns parent_id, child_id,
    relation), with the shortest distance and one shortest path (ids and relations, from the
    ancestor down). Breadth first, one row per pair (DuckDB's `USING KEY`): a pair met again
    is never extended again, so self-loops and cycles end the walk instead of looping, and
    merge diamonds do not multiply paths. Among equally short paths the smallest id list wins.
    A model is never its own ancestor. The walk stops `lineage_max_depth` generations up
    (var, default 100): each step checks every pair found so far, so a 1,000-generation chain
    (a crafted one; real Hub trees are a few generations deep) took hours unbounded, 19 s
    bounded at 100. -#}
{% macro lineage_walk(edges_sql, starts_sql) -%}
with recursive
walk_edges as (

    select parent_id, child_id, coalesce(relation, 'untyped') as relation
    from ({{ edges_sql }})
    where parent_id <> child_id

),

walk (descendant_id, ancestor_id, distance, path, relations) using key (descendant_id, ancestor_id) as (

    select child_id, parent_id, 1, [parent_id, child_id], [relation]
    from walk_edges
    where child_id in ({{ starts_sql }})

    union

    -- one step up from the pairs found in the last step, to ancestors not yet reached
    select
        walk.descendant_id,
        walk_edges.parent_id,
        any_value(walk.distance) + 1,
        min(list_prepend(walk_edges.parent_id, walk.path)),
        arg_min(
            list_prepend(walk_edges.relation, walk.relations),
            list_prepend(walk_edges.parent_id, walk.path)
        )
    from walk
    inner join walk_edges on walk_edges.child_id = walk.ancestor_id
    where walk_edges.parent_id <> walk.descendant_id
      and walk.distance < {{ var('lineage_max_depth', 100) }}
      and not exists (
            select 1 from recurring.walk as found
            where found.descendant_id = walk.descendant_id
              and found.ancestor_id = walk_edges.parent_id
      )
    group by walk.descendant_id, walk_edges.parent_id

)

select * from walk
{%- endmacro %}
