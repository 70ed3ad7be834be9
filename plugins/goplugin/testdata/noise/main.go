// Command noise is not a plugin: it prints a line and waits.
package main

import (
	"fmt"
	"time"
)

func main() {
	fmt.Println("hello, I am not a plugin")
	time.Sleep(time.Minute)
}
