{#- dbt's `unique` and `relationships` tests, made incremental: a build's changed rows (read
    from their copy when there is one) are still compared with the whole table (see
    changed_rows.sql). On a full build they are dbt's own tests. -#}

{% macro default__test_unique(model, column_name) -%}
{%- set copy = changed_rows_copy(model) %}
{%- set changed = none if copy else changed_rows_condition(model, 'changed_row') %}
select {{ column_name }} as unique_field, count(*) as n_records
from {{ model }}
where {{ column_name }} is not null
{%- if copy %}
    and {{ column_name }} in (select {{ column_name }} from {{ copy }})
{%- elif changed %}
    and {{ column_name }} in (select {{ column_name }} from {{ model }} as changed_row where {{ changed }})
{%- endif %}
group by {{ column_name }}
having count(*) > 1
{%- endmacro %}

{#- A child row is checked when it changed, or when the parent changed (or deleted) the row
    it points to; the parent's changed keys tell which when the parent is keyed by `field`
    alone. Otherwise every child row is checked. -#}
{% macro default__test_relationships(model, column_name, to, field) -%}
{%- set child_changed = changed_rows_condition(model, 'child_row') -%}
{%- set parent = incremental_node_of(to) -%}
{%- set parent_key = none if parent is none else parent.config.unique_key -%}
{%- set parent_key = [parent_key] if parent_key is string else parent_key -%}
{%- set checked = none -%}
{%- if child_changed and parent_key == [field] -%}
    {%- set parent_name = parent.alias or parent.name -%}
    {%- set checked -%}
        ({{ child_changed }}
         or not exists (select 1 from intermediate.dbt_incremental_builds
                        where model_name = '{{ parent_name }}' and invocation_id = '{{ invocation_id }}')
         or hash(child_row.{{ column_name }}) in
            (select key_hash from intermediate.dbt_changed_keys where model_name = '{{ parent_name }}'))
    {%- endset -%}
{%- endif %}
with child as (
    select {{ column_name }} as from_field
    from {{ model }} as child_row
    where {{ column_name }} is not null{% if checked %} and {{ checked }}{% endif %}
),

parent as (
    select {{ field }} as to_field
    from {{ to }}
)

select from_field
from child
left join parent on child.from_field = parent.to_field
where parent.to_field is null
{%- endmacro %}
