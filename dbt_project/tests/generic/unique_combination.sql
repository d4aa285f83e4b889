{% test unique_combination(model, columns) %}
-- Rows whose combination of `columns` is not unique. In an incremental build, only the
-- combinations of the rows it changed, each counted across the whole table.
{%- set copy = changed_rows_copy(model) %}
{%- set changed = none if copy else changed_rows_condition(model, 'changed_row') %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
{% if copy -%}
where hash({{ columns | join(', ') }}) in (
    select hash({{ columns | join(', ') }}) from {{ copy }}
)
{% elif changed -%}
where hash({{ columns | join(', ') }}) in (
    select hash({{ columns | join(', ') }}) from {{ model }} as changed_row where {{ changed }}
)
{% endif -%}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
