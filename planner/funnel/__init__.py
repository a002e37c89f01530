"""The online-to-offline funnel: invite links, their visits, who they brought, who came back."""
