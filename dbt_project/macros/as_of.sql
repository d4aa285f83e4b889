{#- Post-hook of model_edge_history: the table macros analysts call for families as of any
    time, from model_history and model_edge_history. They apply dim_model_family's rules to
    the models and edges valid at that instant: candidate parents are non-merge parents
    present then (self-loops ignored), the primary parent is the strongest relation
    (adapter > quantized > finetune > untyped, ties to the smallest id), and a
    primary-parent cycle is broken at its smallest model id. Models are named by their
    current ids, as in the marts. -#}
{% macro create_as_of_macros() -%}
    {#- without the database: DuckDB names it after the file, so a qualified name would break
        in the published copy and in any copy of the warehouse -#}
    {%- set history = ref('model_history').include(database=false) -%}
    {%- set edge_history = this.include(database=false) -%}
    create or replace macro {{ history.schema }}.family_members_as_of(as_of) as table
    with recursive
    models as (
        select model_oid, model_id, created_at, licenses
        from {{ history }}
        where valid_from <= as_of::timestamp
          and (valid_to is null or valid_to > as_of::timestamp)
    ),
    primary_parents as (
        select
            edges.child_id as model_id,
            arg_min(
                edges.parent_id,
                row(case edges.relation
                    when 'adapter' then 1 when 'quantized' then 2 when 'finetune' then 3 else 4
                end, edges.parent_id)
            ) as parent_id
        from {{ edge_history }} as edges
        inner join models as parents on parents.model_id = edges.parent_id
        where edges.valid_from <= as_of::timestamp
          and (edges.valid_to is null or edges.valid_to > as_of::timestamp)
          and edges.relation is distinct from 'merge'
          and edges.parent_id <> edges.child_id
          and edges.child_id in (select model_id from models)
        group by edges.child_id
    ),
    -- walk up the primary parents with a path guard; a walk ends at a root or on a cycle
    walks (start_id, current_id, path) as (
        select models.model_id, primary_parents.parent_id, [models.model_id]
        from models
        left join primary_parents on primary_parents.model_id = models.model_id
        union all
        select walks.start_id, primary_parents.parent_id, list_append(walks.path, walks.current_id)
        from walks
        left join primary_parents on primary_parents.model_id = walks.current_id
        where walks.current_id is not null and not list_contains(walks.path, walks.current_id)
    ),
    ends as (
        select
            start_id,
            path,
            case
                when current_id is null then path[-1]
                else list_min(path[list_position(path, current_id):])
            end as family_root_id
        from walks
        where current_id is null or list_contains(path, current_id)
    )
    select
        models.model_id,
        models.model_oid,
        ends.family_root_id,
        list_position(ends.path, ends.family_root_id) - 1 as depth,
        case when list_position(ends.path, ends.family_root_id) > 1
            then ends.path[2] end as primary_parent_id,
        models.created_at,
        models.licenses
    from ends
    inner join models on models.model_id = ends.start_id;

    comment on macro table {{ history.schema }}.family_members_as_of is
    'Every model valid at as_of (a timestamp) with its family root, depth and primary parent then, by dim_model_family''s rules applied to model_history and model_edge_history. Example: select * from marts.family_members_as_of(timestamp ''2025-06-01'')';

    create or replace macro {{ history.schema }}.family_stats_as_of(as_of) as table
    select
        family_root_id,
        count(*) as n_models,
        max(depth) as max_depth,
        min(created_at) as first_created_at,
        list_sort(list_distinct(flatten(list(licenses)))) as licenses
    from {{ history.schema }}.family_members_as_of(as_of)
    group by family_root_id;

    comment on macro table {{ history.schema }}.family_stats_as_of is
    'One row per family at as_of (a timestamp): members, deepest generation, first creation, licences. Example: select * from marts.family_stats_as_of(now()::timestamp - interval 1 month) order by n_models desc';
{%- endmacro %}
