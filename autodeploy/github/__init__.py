"""The GitOps repo on GitHub, through the REST API (GraphQL only to enable auto-merge).

    options   GitHubOptions: API and web URLs, retry and wait bounds, PR settings (pure)
    client    Client: PyGithub's Requester with bounded retries; maps failures to one-line errors
    auth      credentials: a token from the environment, or a GitHub App installation token
    models    frozen views of the JSON GitHub returns (files, refs, commits, pulls, comparisons)
    api       RepoApi: one method per REST endpoint used, one request each
    repo      GitHubRepo: pipeline.GitopsRepo over contents, refs and pulls, with compare-and-swap
    pulls     open, find and update the pull request; labels, reviewers, auto-merge
    refresh   bring a branch up to date with its base by merging (never a force-push)
    rows      pure: the deploys on a branch, from a comparison's patches
    prbody    pure: the pull request body's table and its hidden state
    history   SourceHistory through the source repo's compare API
    files     FileHistory (versions of a file) through the commits API

Nothing here is imported on the local path: `autodeploy.commands.github_args` imports it lazily.
"""
