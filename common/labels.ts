/** Docker labels on everything citusctl creates: which cluster, group and member a container or volume belongs to. */
export const LABEL_CLUSTER = 'citusctl.cluster';
export const LABEL_GROUP = 'citusctl.group';
export const LABEL_MEMBER = 'citusctl.member';
/** On a throwaway container a step creates to reach a member's volume (never started). */
export const LABEL_HELPER = 'citusctl.helper';
