{#- The paper's edge-type precedence: merge > adapter > quantized > finetune (higher wins). -#}
{% macro relation_precedence(relation) -%}
    case {{ relation }}
        when 'merge' then 4
        when 'adapter' then 3
        when 'quantized' then 2
        when 'finetune' then 1
    end
{%- endmacro %}
