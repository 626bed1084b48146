export { CampaignsProgramSchema, applyCampaignConfig, checkCampaignConfig, exportCampaignConfig, campaignCatalog, findCampaign, type CampaignConfig, type CampaignDef } from './config.js';
export { campaignStep, optIn, memberCampaignViews, memberCampaignView, type CampaignOccurrence, type CampaignEventResult, type CampaignView } from './progress.js';
export { inAudience, audienceFacts, type AudienceFacts } from './audience.js';
