{#- int_family_members and the family marts it feeds (meta feed_key: family_root_id). -#}

{#- The member rows: every model's placement (dim_model_family) and the traits the family
    marts read, for the models `candidates_sql` selects (all when none). -#}
{% macro family_member_rows(candidates_sql=none) -%}
    select
        family.model_id,
        family.family_root_id,
        family.depth,
        family.primary_parent_id,
        family.primary_relation,
        family.is_merge_child,
        family.is_in_cycle,
        traits.created_at,
        traits.licenses
    from {{ ref('dim_model_family') }} as family
    inner join {{ ref('int_model_traits') }} as traits on traits.model_id = family.model_id
    {%- if candidates_sql %}
    where family.model_id in ({{ candidates_sql }})
    {%- endif %}
{%- endmacro %}

{#- The models whose member row may have changed since the last build: dim_model_family fed
    them (placed again, or gone) or int_model_traits did (their traits were parsed again). -#}
{% macro family_member_candidates() -%}
    select family.model_id from {{ ref('dim_model_family') }} as family
    where {{ fed_change('dim_model_family', 'family.model_id') }}
    union
    select traits.model_id from {{ ref('int_model_traits') }} as traits
    where {{ fed_change('int_model_traits', 'traits.model_oid') }}
{%- endmacro %}

{#- Pre-hook of int_family_members: delete (and feed the roots of) the stored rows of models
    that left, moved or changed. Stored rows of gone models are found by their fed key. -#}
{% macro delete_changed_family_members() -%}
    {%- set changed -%}
        ({{ fed_change('dim_model_family', 'kept.model_id') }}
         or kept.model_id in ({{ family_member_candidates() }}))
        -- a whole-row hash: the stored rows have the columns of family_member_rows
        and hash(kept) not in (
            select hash(new_members)
            from ({{ family_member_rows(family_member_candidates()) }}) as new_members)
    {%- endset -%}
    {{ delete_if_incremental(changed) }}
{%- endmacro %}

{#- The roots of the families a family mart must rebuild that still have members:
    int_family_members fed their root (a member joined, left or changed), or
    `member_producer` (a change feed keyed by model_id) fed one of their members. -#}
{% macro changed_families(member_producer=none) -%}
    select distinct members.family_root_id from {{ ref('int_family_members') }} as members
    where {{ fed_change('int_family_members', 'members.family_root_id') }}
    {%- if member_producer %}
       or {{ fed_change(member_producer, 'members.model_id') }}
    {%- endif %}
{%- endmacro %}

{#- Pre-hook of a family mart keyed by family: delete the rows of the families it rebuilds
    and of those that dissolved (fed, with no member left). -#}
{% macro delete_changed_families(member_producer=none) -%}
    {%- set changed -%}
        ({{ fed_change('int_family_members', 'kept.family_root_id') }}
         or kept.family_root_id in ({{ changed_families(member_producer) }}))
    {%- endset -%}
    {{ delete_if_incremental(changed) }}
{%- endmacro %}
