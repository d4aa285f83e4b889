{% test list_elements_match(model, column_name, pattern) %}
-- List elements of `column_name` that do not fully match the regular expression `pattern`.
select {{ column_name }}, element
from (select {{ column_name }}, unnest({{ column_name }}) as element from {{ model }})
where not regexp_full_match(element, '{{ pattern }}')
{% endtest %}
