export { CampaignsProgramSchema, applyCampaignConfig, checkCampaignConfig, exportCampaignConfig, campaignCatalog, findCampaign, type CampaignConfig, type CampaignDef } from './config.js';
export { campaignStep, readStep, type CampaignStep } from './progress.js';
export { noProgress, type CampaignOccurrence, type CampaignEventResult } from './advance.js';
export { optIn, loadProgress, type MemberProgress } from './progress-store.js';
export { isRunning } from './config.js';
export { behaviorView, memberCampaignViews, memberCampaignView, type BehaviorView, type CampaignView } from './views.js';
export { inAudience, audienceFacts, type AudienceFacts } from './audience.js';
