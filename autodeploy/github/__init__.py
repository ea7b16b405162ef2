"""The GitOps repo on GitHub, through the REST API (GraphQL only to enable auto-merge).

    connection   ClientOptions: the API URL and the bounds on time and attempts (pure)
    credentials  which token or GitHub App reaches the GitOps repo (pure)
    client       Client: PyGithub's Requester with bounded retries; maps failures to one-line errors
    auth         a Client for the chosen credentials: the token, or an App's installation token
    models       frozen views of the JSON GitHub returns (files, refs, commits, pulls, comparisons)
    api          RepoApi: one method per REST endpoint used, one request each
    repo         GitHubRepo: pipeline.GitopsRepo over contents, refs and pulls, with compare-and-swap
    pulls        open, find and update the pull request; labels, reviewers, auto-merge
    refresh      bring a branch up to date with its base by merging (never a force-push)
    rows         pure: the deploys on a branch, from a comparison's patches
    prbody       pure: the pull request body's table and its hidden state
    derive       pure: a branch's file from the base's and the pull request's hidden state
    guard        the downgrade guard's SourceHistory through the source repo's compare API
    files        FileHistory (versions of a file) through the commits API
    deployments  GitHub Deployments and their statuses in the application repository

Only the pure modules are imported on the local path: `autodeploy.adapters` imports the rest lazily.
"""
