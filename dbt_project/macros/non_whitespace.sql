{#- A regular expression class for one character that is not whitespace, where whitespace is
    what Python's str.split() splits on (RE2's \s alone misses the Unicode spaces). -#}
{% macro non_whitespace() -%}
    [^\s\x{0b}\x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]
{%- endmacro %}
