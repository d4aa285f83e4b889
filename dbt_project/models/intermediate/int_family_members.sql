-- Every model with its family placement and the traits the family marts aggregate.
-- Incremental by the change feeds of dim_model_family and int_model_traits: a build rewrites
-- the members whose row changed, and feeds the family marts the roots those members left
-- (the pre-hook, while their old rows are still there) and joined (meta feed_key), so each
-- family mart rebuilds exactly the families that changed.
{{ config(
    materialized='incremental',
    unique_key='model_id',
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
    meta={'change_feed_from': ['dim_model_family', 'int_model_traits'], 'feed_key': 'family_root_id'},
    pre_hook=["{{ delete_changed_family_members() }}"],
) }}

{% if is_incremental() %}
-- The pre-hook deleted the stored rows that changed: a candidate still stored is unchanged.
select new_members.*
from ({{ family_member_rows(family_member_candidates()) }}) as new_members
anti join {{ this }} as stored on stored.model_id = new_members.model_id
{% else %}
{{ family_member_rows() }}
{% endif %}
