"""The online-to-offline funnel: invite links, their visits, who they brought, who came back;
personal referrals (who invited whom) and the branch's top referrers."""
