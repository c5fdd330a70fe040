/** Docker labels on everything citusctl creates: which cluster, group and member a container or volume belongs to. */
export const LABEL_CLUSTER = 'citusctl.cluster';
export const LABEL_GROUP = 'citusctl.group';
export const LABEL_MEMBER = 'citusctl.member';
