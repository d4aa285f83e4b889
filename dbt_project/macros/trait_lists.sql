{#- The values of the tags of a list that start with `prefix`, the prefix cut off. -#}
{% macro tag_values(tags, prefix) -%}
    list_transform(
        list_filter({{ tags }}, lambda tag: starts_with(tag, '{{ prefix }}')),
        lambda tag: substr(tag, length('{{ prefix }}') + 1)
    )
{%- endmacro %}

{#- The seed license_aliases as one map, alias -> Hub licence id. -#}
{% macro license_alias_map() -%}
    (select map_from_entries(list((alias, license))) from {{ ref('license_aliases') }})
{%- endmacro %}

{#- A model's licences from its `license:` tags and its card header's licence (a JSON string or
    list), lower-cased, aliased by `aliases` (license_alias_map), sorted, without duplicates or
    empty values. -#}
{% macro normalised_licenses(tags, card_license, aliases) -%}
    list_sort(list_distinct(list_filter(
        list_transform(
            list_concat({{ tag_values(tags, 'license:') }}, {{ json_string_list(card_license) }}),
            lambda value: coalesce({{ aliases }}[lower(trim(value))], lower(trim(value)))
        ),
        lambda license: license <> ''
    )))
{%- endmacro %}
