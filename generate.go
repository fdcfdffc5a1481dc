package lindung

//go:generate go tool gqlgen generate
