{#- The seeds that decide a model's licence category and whether a child breaks its
    ancestors' terms: the licence marts recompute every row when one of them changes. -#}
{% macro license_seeds() -%}
    {{- return([ref('license_categories'), ref('license_category_ranks'), ref('license_violation_rules')]) -}}
{%- endmacro %}
