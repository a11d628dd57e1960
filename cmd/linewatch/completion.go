package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func init() { register(completionCommand) }

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash or zsh)",
		UsageText: "linewatch completion bash|zsh",
		Description: "Prints a script that makes the shell complete linewatch's commands and flags (it asks\n" +
			"linewatch itself, through the hidden --generate-bash-completion flag). Example:\n\n" +
			"  source <(linewatch completion bash)                   # this shell\n" +
			"  linewatch completion bash > ~/.local/share/bash-completion/completions/linewatch\n" +
			"  linewatch completion zsh > \"${fpath[1]}/_linewatch\"   # zsh",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError(c, "completion takes one shell, bash or zsh")
			}
			var script string
			switch c.Args().First() {
			case "bash":
				script = bashCompletion
			case "zsh":
				script = zshCompletion
			default:
				return usageError(c, "no completion for %q: bash or zsh", c.Args().First())
			}
			_, err := fmt.Fprint(c.App.Writer, script)
			return err
		},
	}
}

// The scripts are urfave/cli's (autocomplete/), for a program named
// linewatch.
const bashCompletion = `# bash completion for linewatch
_linewatch_complete() {
  local cur words cword opts
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  if declare -F _init_completion >/dev/null 2>&1; then
    _init_completion -n "=:" || return
  else
    words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD
  fi
  words=("${words[@]:0:$cword}")
  if [[ "$cur" == "-"* ]]; then
    opts=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${words[@]}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
  return 0
}
complete -o bashdefault -o default -o nospace -F _linewatch_complete linewatch
`

const zshCompletion = `#compdef linewatch
_linewatch() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _linewatch linewatch
`
