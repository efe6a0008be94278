//! Approver groups: team lead, PR and legal, and which roles decide each group's requests.
//! Approvals route held replies to a group, escalations send conversations to one, and live
//! topics (`approvals:<group>`) are followed by its members.

use super::Role;

/// Team leads: the supervisors.
pub const GROUP_TEAM_LEAD: &str = "team_lead";
/// Public relations: agents with the `approver` role.
pub const GROUP_PR: &str = "pr";
/// Legal: agents with the `legal` role.
pub const GROUP_LEGAL: &str = "legal";
/// Approver groups, least senior first: a reply several rules hold goes to the most senior.
pub const GROUPS: [&str; 3] = [GROUP_TEAM_LEAD, GROUP_PR, GROUP_LEGAL];

/// The role whose holders decide a group's requests (admins decide everything).
pub fn role_of_group(group: &str) -> Role {
    match group {
        GROUP_TEAM_LEAD => Role::Supervisor,
        GROUP_LEGAL => Role::Legal,
        _ => Role::Approver,
    }
}

/// The groups whose requests someone with these roles decides.
pub fn groups_of(roles: &[Role]) -> Vec<&'static str> {
    let admin = roles.contains(&Role::Admin);
    GROUPS.into_iter().filter(|g| admin || roles.contains(&role_of_group(g))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approver_groups_follow_roles() {
        assert_eq!(groups_of(&[Role::Agent]), Vec::<&str>::new());
        assert_eq!(groups_of(&[Role::Supervisor]), vec!["team_lead"]);
        assert_eq!(groups_of(&[Role::Approver, Role::Legal]), vec!["pr", "legal"]);
        assert_eq!(groups_of(&[Role::Admin]), vec!["team_lead", "pr", "legal"]);
    }
}
