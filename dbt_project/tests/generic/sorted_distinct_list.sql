{% test sorted_distinct_list(model, column_name) %}
-- Rows whose list `column_name` is null, unsorted or holds duplicates.
select {{ column_name }}
from {{ model }}
where {{ column_name }} is null
   or {{ column_name }} <> list_sort(list_distinct({{ column_name }}))
{% endtest %}
