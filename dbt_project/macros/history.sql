{#- The stable ids (model_oid) of models whose history may have changed since the building
    model last ran: a new version observed, the current row changed (edit, counts, rename,
    deletion, restoration) or a README fetched. Every model on a full build. -#}
{% macro changed_model_oids() -%}
    {%- if is_incremental() -%}
        select model_oid from {{ source('hub', 'hub_model_versions') }}
        where observed_at > {{ watermark('versions') }}
        union
        select model_oid from {{ source('hub', 'hub_models') }}
        where changed_at > {{ watermark('models') }} or deleted_at > {{ watermark('models') }}
        union
        select model_oid from {{ source('hub', 'hub_card_fetches') }}
        where fetched_at > {{ watermark('cards') }}
    {%- else -%}
        select model_oid from {{ source('hub', 'hub_models') }}
    {%- endif -%}
{%- endmacro %}

{#- Post-hook recording the three clocks changed_model_oids reads. -#}
{% macro save_history_watermarks() -%}
    {{ save_watermark('select max(observed_at) from ' ~ source('hub', 'hub_model_versions'), 'versions') }};
    {{ save_watermark('select greatest(max(changed_at), max(deleted_at)) from ' ~ source('hub', 'hub_models'), 'models') }};
    {{ save_watermark('select max(fetched_at) from ' ~ source('hub', 'hub_card_fetches'), 'cards') }}
{%- endmacro %}
