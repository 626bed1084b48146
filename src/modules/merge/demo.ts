/** The demo's finished merge (the environment's merge_account_id), read back by 1.2.2. */
export const DEMO_MERGE_ID = '3f9a7c21-5b8e-4d6f-a1c2-7e8d9f0a1b2c';
export const DEMO_SURVIVOR_ID = '5a1e3c2b-7f4d-4e8a-9b6c-1d2e3f4a5b01';
/** A third demo member, merged into the survivor when the demo loads. */
export const DEMO_EARLIER_VICTIM_ID = '5a1e3c2b-7f4d-4e8a-9b6c-1d2e3f4a5b03';
export const DEMO_EARLIER_VICTIM_EXTERNAL_ID = 'BRANDX-VICTIM-000';
