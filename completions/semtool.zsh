#compdef semtool

_semtool_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _SEMTOOL_COMPLETE=complete_zsh semtool)
}

compdef _semtool_completion semtool
