{% test unique_combination(model, columns) %}
-- Rows whose combination of `columns` is not unique. In an incremental build, only the
-- combinations of the rows it changed, each counted across the whole table.
{%- set changed = changed_rows(model) %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
{% if changed -%}
where hash({{ columns | join(', ') }}) in (
    select hash({{ columns | join(', ') }}) from {{ changed }} as changed_rows
)
{% endif -%}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
