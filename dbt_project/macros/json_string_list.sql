{#- The strings held by a JSON value that may be a string, a list or anything else.
    A string gives a one-element list; a list gives its string elements (trimmed, non-empty);
    null, numbers, objects and other odd types give an empty list. -#}
{% macro json_string_list(json_expr) -%}
    coalesce(
        list_filter(
            list_transform(
                case json_type({{ json_expr }})
                    when 'VARCHAR' then [{{ json_expr }}]
                    when 'ARRAY' then json_extract({{ json_expr }}, '$[*]')
                    else []::json[]
                end,
                lambda element: case when json_type(element) = 'VARCHAR' then trim(element ->> '$') end
            ),
            lambda value: value is not null and value <> ''
        ),
        []::varchar[]
    )
{%- endmacro %}
