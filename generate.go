package lindung

//go:generate go run ./internal/gqlgen
